// Command ledgersim is the card-authorization simulator's one binary.
//
//	ledgersim serve [flags]     run the server (the default command)
//	ledgersim loadtest [flags]  drive an ISO 8583 host with an open-loop load
//	ledgersim version         print the version
//
// Every serve flag has an environment variable: --data-dir is
// LEDGERSIM_DATA_DIR, --api-key is LEDGERSIM_API_KEY, and so on (dashes
// become underscores, upper case, LEDGERSIM_ prefix). A flag given on the
// command line wins over its variable.
package main
