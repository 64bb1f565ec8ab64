package kinds

// SIPSection is [expectation.sip]: options and assertions of the sip probe.
type SIPSection struct{}

func (s *SIPSection) validate() []FieldError { return nil }

func init() {
	register(&Kind{Name: "sip", Transports: []string{"udp", "tcp", "tls"}, Sections: []string{"sip"}})
}
