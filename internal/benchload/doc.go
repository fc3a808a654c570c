// Package benchload drives the load of ledgersim's in-process benchmarks:
// a pool of workers taking operations on an open-loop schedule, each
// operation's latency recorded, and the process's CPU time read around
// the run. It is benchmark support only: nothing in the binary imports it.
package benchload
