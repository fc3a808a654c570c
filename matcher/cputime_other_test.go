//go:build !linux

package matcher

type threadCPU struct{}

func startThreadCPU() threadCPU { return threadCPU{} }

// stop returns -1: thread CPU time is measured on Linux only.
func (threadCPU) stop() int64 { return -1 }
