package kinds

// RTPSection is [expectation.rtp]: options of the rtp probe.
type RTPSection struct{}

func (s *RTPSection) validate() []FieldError { return nil }

func init() {
	register(&Kind{Name: "rtp", Transports: []string{"udp"}, Sections: []string{"rtp"}})
}
