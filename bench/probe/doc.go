// Package probe measures what the machine under a benchmark gives any
// program, so a benchmark's figures can be read against it:
//
//   - Sync: the latency of a small write followed by fdatasync(2) on the
//     disk that holds a directory, the floor under every reply that waits
//     for its record to be synced. No store can answer a synced request
//     faster than the disk syncs, so a p99 target below this probe's p99
//     cannot be met on that disk.
//   - Sleep: how late a short sleep wakes up. A process that does nothing
//     but sleep should wake within a fraction of a millisecond; gaps far
//     longer than that, seen by this probe while another program runs a
//     load test, stop every program on the machine (a virtual processor
//     held back by its host, for one), not only the one being measured.
//
// Both record into loadtest.Histogram, the same histogram the load
// generator reports with, and neither needs anything but the standard
// library. bench/cmd/probe runs them.
package probe
