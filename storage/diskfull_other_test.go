//go:build !linux

package storage

import "errors"

func diskFullChild(string) error {
	return errors.New("the disk-full test mounts a Linux tmpfs")
}
