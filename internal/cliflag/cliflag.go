package cliflag

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// Print writes every flag of fs as "  --name VALUE" followed by its usage and
// default, skipping those hide reports true for (hide may be nil). Secrets
// (a flag whose name contains "key") never show their default, which may
// have come from the environment.
func Print(w io.Writer, fs *flag.FlagSet, hide func(name string) bool) {
	fs.VisitAll(func(f *flag.Flag) {
		if hide != nil && hide(f.Name) {
			return
		}
		value, usage := flag.UnquoteUsage(f)
		head := "  --" + f.Name
		if value != "" {
			head += " " + value
		}
		def := ""
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && !strings.Contains(f.Name, "key") {
			def = fmt.Sprintf(" (default %s)", f.DefValue)
		}
		fmt.Fprintf(w, "%s\n      %s%s\n", head, usage, def)
	})
}
