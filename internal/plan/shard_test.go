package plan

import (
	"slices"
	"testing"

	"probe/internal/config"
)

func shardFile() *config.File {
	e := func(id, target string, vantages ...string) config.Expectation {
		m := map[string]string{}
		for _, v := range vantages {
			m[v] = "open"
		}
		return config.Expectation{ID: id, Target: target, Expect: m}
	}
	return &config.File{Expectations: []config.Expectation{
		e("api-ssh", "api", "admin", "internet"),
		e("api-http", "api", "admin", "internet"),
		e("fs-sip", "freeswitch", "admin", "internet", "api"),
		e("db", "database", "api"),
		e("redis", "redis", "api", "internet"),
		e("fs-esl", "freeswitch", "api"),
	}}
}

func TestShardSelect(t *testing.T) {
	f := shardFile()
	tests := []struct {
		name    string
		vantage string
		shard   Shard
		want    []string
	}{
		{"one shard is everything that applies", "internet", Shard{1, 1}, []string{"api-ssh", "api-http", "fs-sip", "redis"}},
		// internet's targets in name order: api, freeswitch, redis.
		{"first of two gets the 1st and 3rd target", "internet", Shard{1, 2}, []string{"api-ssh", "api-http", "redis"}},
		{"second of two gets the 2nd target", "internet", Shard{2, 2}, []string{"fs-sip"}},
		// api's targets: database, freeswitch, redis.
		{"a vantage's own targets are dealt", "api", Shard{2, 3}, []string{"fs-sip", "fs-esl"}},
		{"more shards than targets leaves some empty", "admin", Shard{3, 3}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.shard.Select(f, tc.vantage)
			if !slices.Equal(got, tc.want) {
				t.Errorf("Select(%v, %s) = %v; want %v", tc.shard, tc.vantage, got, tc.want)
			}
		})
	}
}

// Every check of the vantage is in exactly one shard, and every check of a
// target in the same one.
func TestShardsPartition(t *testing.T) {
	f := shardFile()
	for _, v := range []string{"admin", "internet", "api"} {
		all := Shard{1, 1}.Select(f, v)
		for n := 1; n <= 4; n++ {
			var union []string
			shardOf := map[string]int{}
			for i := 1; i <= n; i++ {
				for _, id := range (Shard{i, n}).Select(f, v) {
					union = append(union, id)
					for _, e := range f.Expectations {
						if e.ID != id {
							continue
						}
						if s, ok := shardOf[e.Target]; ok && s != i {
							t.Errorf("%s n=%d: target %s in shards %d and %d", v, n, e.Target, s, i)
						}
						shardOf[e.Target] = i
					}
				}
			}
			slices.Sort(union)
			want := slices.Clone(all)
			slices.Sort(want)
			if !slices.Equal(union, want) {
				t.Errorf("%s n=%d: shards cover %v; want %v once each", v, n, union, want)
			}
		}
	}
}

func TestParseShard(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Shard
		ok   bool
	}{
		{"1/3", Shard{1, 3}, true},
		{"3/3", Shard{3, 3}, true},
		{"1/1", Shard{1, 1}, true},
		{"0/3", Shard{}, false},
		{"4/3", Shard{}, false},
		{"1/0", Shard{}, false},
		{"2", Shard{}, false},
		{"a/b", Shard{}, false},
	} {
		got, err := ParseShard(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseShard(%q) = %v, %v; want %v, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}
