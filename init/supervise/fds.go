package supervise

import (
	"os"
	"strconv"
	"syscall"
)

// closeOnExec marks every open descriptor above 2 close-on-exec, so that
// descriptors the init inherited from whoever started it never reach a
// service; Go opens its own with O_CLOEXEC already.
func closeOnExec() {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return
	}
	for _, e := range ents {
		fd, err := strconv.Atoi(e.Name())
		if err != nil || fd <= 2 {
			continue
		}
		syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_SETFD, syscall.FD_CLOEXEC)
	}
}
