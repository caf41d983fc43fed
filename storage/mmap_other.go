//go:build !unix

package storage

import (
	"errors"
	"os"
)

// mapFile is not used here: the data file is read into a buffer.
func mapFile(*os.File, int) ([]byte, error) { return nil, errors.ErrUnsupported }

func unmapFile([]byte) {}
