//go:build !unix

package storage

// tightenDir has nothing to do without Unix permissions: on Windows the profile
// directory under %AppData% is private to the user by its ACL.
func tightenDir(string) (*Notice, error) { return nil, nil }
