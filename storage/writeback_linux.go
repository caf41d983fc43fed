package storage

import (
	"os"
	"syscall"
)

// startWriteback asks the kernel to start writing the file's bytes [off, off+n) to
// disk now, without waiting: the fsync at the end of a large write then finds most of
// them written already. Failure only costs that head start.
func startWriteback(f *os.File, off, n int64) {
	const syncFileRangeWrite = 2 // SYNC_FILE_RANGE_WRITE
	syscall.SyncFileRange(int(f.Fd()), off, n, syncFileRangeWrite)
}
