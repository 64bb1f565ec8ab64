package report

import (
	"encoding/json"
	"testing"
)

// changeKinds lists the changes as "kind id vantage".
func changeKinds(d Diff) map[string]bool {
	m := map[string]bool{}
	for _, c := range d.Changes {
		m[c.Kind+" "+c.ID+" "+c.Vantage] = true
	}
	return m
}

func TestDiffOfARealRegression(t *testing.T) {
	after, _ := load(t, "after-internet")
	before, _ := load(t, "before-internet")
	d := Compare(after, before)
	k := changeKinds(d)
	for _, want := range []string{
		"port-opened api-ssh internet",
		"verdict-changed api-ssh internet",
		"state-changed api-sip-tcp internet",
		"verdict-changed freeswitch-web internet",
	} {
		if !k[want] {
			t.Errorf("no %q in %v", want, k)
		}
	}
	if !d.Matters {
		t.Errorf("a port that opened does not matter?")
	}
	back := Compare(before, after)
	if !changeKinds(back)["port-closed api-ssh internet"] {
		t.Errorf("the way back lacks port-closed for api-ssh: %v", changeKinds(back))
	}
}

func TestDiffOfTheSameRunIsEmpty(t *testing.T) {
	for _, n := range []string{"after-internet", "before-admin"} {
		r, _ := load(t, n)
		if d := Compare(r, r); len(d.Changes) != 0 || d.Matters {
			t.Errorf("%s against itself: %+v", n, d.Changes)
		}
	}
}

// The testbed rebuilt from nothing has new SSH host keys and a new
// certificate with a later expiry: the keys matter, the renewal does not.
func TestDiffRebuiltTestbed(t *testing.T) {
	old, _ := load(t, "after-admin")
	rebuilt, _ := load(t, "after2-admin")
	d := Compare(old, rebuilt)
	k := changeKinds(d)
	if !k["ssh-host-key-changed api-ssh admin"] || !k["ssh-host-key-changed freeswitch-ssh admin"] || !k["certificate-renewed api-https admin"] {
		t.Errorf("changes %v; want both host keys and the certificate", k)
	}
	for _, c := range d.Changes {
		if c.Kind == "certificate-renewed" && c.Matters {
			t.Errorf("a renewal to a later expiry counted as mattering")
		}
	}
	if !d.Matters {
		t.Errorf("new host keys do not matter?")
	}
}

// clone copies a report deeply, facts included, through its JSON.
func clone(t *testing.T, r *Report) *Report {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var c Report
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return &c
}

func facts(t *testing.T, r *Report, id string) map[string]any {
	t.Helper()
	for _, res := range r.Results {
		if res.ID == id {
			return res.Evidence[0].Observation.Facts.(map[string]any)
		}
	}
	t.Fatalf("no result %s", id)
	return nil
}

func TestDiffFactsAndRows(t *testing.T) {
	old, _ := load(t, "after-internet")

	ua := clone(t, old)
	facts(t, ua, "freeswitch-sip-udp")["user_agent"] = "FreeSWITCH-mod_sofia/1.10.13-release~64bit"
	if !changeKinds(Compare(old, ua))["sip-agent-changed freeswitch-sip-udp internet"] {
		t.Errorf("a new SIP User-Agent was not reported")
	}

	// The same certificate, a night later, under 14 days: reported once,
	// as the threshold is crossed.
	near := clone(t, old)
	facts(t, near, "api-https")["tls"].(map[string]any)["days_left"] = 13.0
	older := clone(t, old)
	facts(t, older, "api-https")["tls"].(map[string]any)["days_left"] = 14.0
	if !changeKinds(Compare(older, near))["certificate-expiry-near api-https internet"] {
		t.Errorf("crossing under 14 days left was not reported")
	}
	same := clone(t, older)
	facts(t, same, "api-https")["tls"].(map[string]any)["days_left"] = 20.0
	older2 := clone(t, older)
	facts(t, older2, "api-https")["tls"].(map[string]any)["days_left"] = 21.0
	if d := Compare(older2, same); len(d.Changes) != 0 {
		t.Errorf("a day nearer, no threshold crossed: %+v; want nothing", d.Changes)
	}

	fewer := clone(t, old)
	fewer.Results = fewer.Results[1:]
	d := Compare(old, fewer)
	if !changeKinds(d)["expectation-removed api-ssh internet"] || !changeKinds(Compare(fewer, old))["expectation-added api-ssh internet"] {
		t.Errorf("added/removed expectations not reported: %v", changeKinds(d))
	}
}

// A report written before results had a family, against one written after
// the target got its ipv6 key: the IPv4 results are the same rows (no
// removed-and-added), and only the IPv6 ones are new. A result at an IPv6
// address without a family was probed over IPv6.
func TestDiffAcrossTheIPv6Upgrade(t *testing.T) {
	old, _ := load(t, "after-internet")
	upgraded := clone(t, old)
	var v6 []Result
	for i := range upgraded.Results {
		res := &upgraded.Results[i]
		if res.Target != "freeswitch" {
			continue
		}
		res.Family = "ipv4"
		r6 := *res
		r6.Family, r6.Address = "ipv6", "2001:db8:1::20"
		v6 = append(v6, r6)
	}
	if len(v6) == 0 {
		t.Fatal("no freeswitch result in the fixture")
	}
	upgraded.Results = append(upgraded.Results, v6...)
	d := Compare(old, upgraded)
	added := 0
	for _, c := range d.Changes {
		switch {
		case c.Kind == "expectation-added" && c.Family == "ipv6":
			added++
		default:
			t.Errorf("change %+v; want only the IPv6 results added", c)
		}
	}
	if added != len(v6) {
		t.Errorf("%d added; want the %d IPv6 results", added, len(v6))
	}
	// Before families, an IPv6 target's results had its address alone.
	bare := clone(t, upgraded)
	for i := range bare.Results {
		bare.Results[i].Family = ""
	}
	if d := Compare(bare, upgraded); len(d.Changes) != 0 {
		t.Errorf("the same results with and without their family: %+v; want no change", d.Changes)
	}
}
