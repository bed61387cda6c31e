// Command pause is the pod sandbox's process (containerd's sandbox_image): it waits for
// SIGTERM or SIGINT and exits 0, and reaps nothing (pods here do not share a PID namespace).
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGTERM, syscall.SIGINT)
	<-c
}
