//go:build !unix

package storage

import "io/fs"

// inode is unknown here; size and mtime (100 ns resolution on Windows) carry the check.
func inode(fs.FileInfo) uint64 { return 0 }
