package kinds

// RTPSection is [expectation.rtp]: options of the rtp probe.
type RTPSection struct {
	Sample int `toml:"sample,omitempty" json:"sample,omitempty"`
}

func (s *RTPSection) validate() []FieldError { return nil }

func init() {
	register(&Kind{Name: "rtp", Transports: []string{"udp"}, Sections: []string{"rtp"}})
}
