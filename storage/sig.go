package storage

import (
	"io/fs"
	"os"
)

// fileSig is what a stat tells about the cache file: enough to know, without reading
// it, that nobody replaced it since it was last loaded. Every save renames a new file
// into place, so on Unix the inode alone changes on each write; size and mtime cover
// systems without inodes and inode reuse.
type fileSig struct {
	exists bool
	ino    uint64
	size   int64
	mtime  int64 // UnixNano
}

func statSig(path string) (fileSig, error) {
	fi, err := os.Stat(path)
	if err != nil {
		if os.IsNotExist(err) {
			return fileSig{}, nil
		}
		return fileSig{}, err
	}
	return sigOf(fi), nil
}

func sigOf(fi fs.FileInfo) fileSig {
	return fileSig{exists: true, ino: inode(fi), size: fi.Size(), mtime: fi.ModTime().UnixNano()}
}
