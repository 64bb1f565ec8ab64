package cli

import (
	"bytes"
	"fmt"
	"io"
	"sort"
	"strings"

	"probe/probes"
)

func init() {
	extra["completion"] = cmdCompletion
	extra["man"] = cmdMan
}

// The shell completion and the man page are made from the commands' own
// help, so they cannot drift from the flags the commands really take.

type flagDoc struct {
	name, arg, help string
}

type commandDoc struct {
	name, synopsis string
	flags          []flagDoc
}

// commands lists every command with its synopsis and flags, read from its
// --help.
func commands() []commandDoc {
	names := []string{"validate", "plan", "run", "version", "help"}
	for n := range extra {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []commandDoc
	for _, n := range names {
		if n == "help" {
			out = append(out, commandDoc{name: "help", synopsis: "help [COMMAND]"})
			continue
		}
		var buf bytes.Buffer
		dispatch([]string{n, "--help"}, Env{Stdout: &buf, Stderr: io.Discard, Getenv: func(string) string { return "" }})
		out = append(out, parseHelp(n, buf.String()))
	}
	return out
}

// parseHelp reads what newFlags's usage prints: "Usage: probe SYNOPSIS",
// then per flag "  -name ARG" and its help on indented lines.
func parseHelp(name, help string) commandDoc {
	d := commandDoc{name: name}
	for _, line := range strings.Split(help, "\n") {
		switch {
		case strings.HasPrefix(line, "Usage: probe "):
			d.synopsis = strings.TrimPrefix(line, "Usage: probe ")
		case strings.HasPrefix(line, "  -"):
			f := strings.Fields(strings.TrimPrefix(line, "  -"))
			fd := flagDoc{name: f[0]}
			if len(f) > 1 {
				fd.arg = f[1]
			}
			d.flags = append(d.flags, fd)
		case strings.HasPrefix(line, "    \t") && len(d.flags) > 0:
			last := &d.flags[len(d.flags)-1]
			last.help = strings.TrimSpace(last.help + " " + strings.TrimSpace(line))
		}
	}
	return d
}

func cmdCompletion(args []string, env Env) int {
	fs := newFlags("completion", "completion bash|zsh", env)
	pos, err := parse(fs, args)
	if err != nil {
		return flagErr(err)
	}
	if len(pos) != 1 || (pos[0] != "bash" && pos[0] != "zsh") {
		fmt.Fprintln(env.Stderr, "probe completion: want bash or zsh")
		return ExitUsage
	}
	cmds := commands()
	var b strings.Builder
	if pos[0] == "zsh" {
		b.WriteString("# probe completion for zsh: eval \"$(probe completion zsh)\"\nautoload -U +X bashcompinit && bashcompinit\n")
	} else {
		b.WriteString("# probe completion for bash: eval \"$(probe completion bash)\", or save it in\n# /etc/bash_completion.d/probe\n")
	}
	var names []string
	for _, c := range cmds {
		names = append(names, c.name)
	}
	b.WriteString("_probe() {\n")
	b.WriteString("  local cur=${COMP_WORDS[COMP_CWORD]}\n")
	fmt.Fprintf(&b, "  if [ \"$COMP_CWORD\" -eq 1 ]; then\n    COMPREPLY=($(compgen -W %q -- \"$cur\"))\n    return\n  fi\n", strings.Join(names, " "))
	b.WriteString("  local flags=\n  case ${COMP_WORDS[1]} in\n")
	for _, c := range cmds {
		var fl []string
		for _, f := range c.flags {
			fl = append(fl, "--"+f.name)
		}
		if c.name == "help" {
			fmt.Fprintf(&b, "  help) COMPREPLY=($(compgen -W %q -- \"$cur\")); return ;;\n", strings.Join(names, " "))
			continue
		}
		fmt.Fprintf(&b, "  %s) flags=%q ;;\n", c.name, strings.Join(fl, " "))
	}
	b.WriteString("  esac\n")
	b.WriteString("  if [[ $cur == -* ]]; then\n    COMPREPLY=($(compgen -W \"$flags\" -- \"$cur\"))\n  else\n    COMPREPLY=($(compgen -f -- \"$cur\"))\n  fi\n}\n")
	b.WriteString("complete -o filenames -F _probe probe\n")
	io.WriteString(env.Stdout, b.String())
	return 0
}

// roff escapes text for a man page: backslashes, and a leading dot or
// quote that would be read as a request.
func roff(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}

func cmdMan(args []string, env Env) int {
	fs := newFlags("man", "man", env)
	pos, err := parse(fs, args)
	if err != nil {
		return flagErr(err)
	}
	if len(pos) > 0 {
		fmt.Fprintln(env.Stderr, "probe man: takes no arguments")
		return ExitUsage
	}
	var overview bytes.Buffer
	usage(&overview)
	var b strings.Builder
	// No date: a page that changed every day would change the release for
	// nothing.
	fmt.Fprintf(&b, ".TH PROBE 1 \"\" \"probe %s\" \"User Commands\"\n", roff(probes.Version()))
	b.WriteString(".SH NAME\nprobe \\- prove a deployment's network exposure with real traffic\n")
	b.WriteString(".SH SYNOPSIS\n")
	cmds := commands()
	for _, c := range cmds {
		fmt.Fprintf(&b, ".B probe\n%s\n.br\n", roff(c.synopsis))
	}
	b.WriteString(".SH DESCRIPTION\n")
	for _, line := range strings.Split(strings.TrimSpace(overview.String()), "\n") {
		if strings.HasPrefix(line, "Usage:") || strings.HasPrefix(line, "  probe ") {
			continue
		}
		if strings.TrimSpace(line) == "" {
			b.WriteString(".PP\n")
			continue
		}
		b.WriteString(roff(line) + "\n")
	}
	b.WriteString(".SH COMMANDS\n")
	for _, c := range cmds {
		fmt.Fprintf(&b, ".SS %s\n.B probe %s\n", roff(c.name), roff(c.synopsis))
		for _, f := range c.flags {
			if f.arg != "" {
				fmt.Fprintf(&b, ".TP\n.BI \\-\\-%s \" %s\"\n", roff(f.name), roff(f.arg))
			} else {
				fmt.Fprintf(&b, ".TP\n.B \\-\\-%s\n", roff(f.name))
			}
			b.WriteString(roff(f.help) + "\n")
		}
	}
	b.WriteString(".SH EXIT STATUS\n")
	for _, e := range []struct {
		code int
		what string
	}{
		{ExitPass, "every verdict passed"},
		{ExitFail, "at least one verdict failed (diff, drift: something that matters changed)"},
		{ExitUsage, "usage or configuration error"},
		{ExitInconclusive, "nothing failed, but something was inconclusive or errored"},
		{ExitIO, "the run could not be made, or its report or output could not be written"},
		{ExitInterrupted, "interrupted by SIGINT (143 for SIGTERM); the partial report is written"},
	} {
		fmt.Fprintf(&b, ".TP\n.B %d\n%s\n", e.code, roff(e.what))
	}
	b.WriteString(".SH SEE ALSO\nThe README of the probe repository: the config format, the report, the formats, serve, the image.\n")
	io.WriteString(env.Stdout, b.String())
	return 0
}
