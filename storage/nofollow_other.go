//go:build !unix

package storage

// oNoFollow is 0 where open has no such flag (Windows: creating a symbolic link there
// takes a privilege or developer mode, and the profile directory is the user's own).
const oNoFollow = 0
