package kinds

// SSHSection is [expectation.ssh]: options and assertions of the ssh probe.
type SSHSection struct{}

func (s *SSHSection) validate() []FieldError { return nil }

func init() {
	register(&Kind{Name: "ssh", Transports: []string{"tcp"}, Sections: []string{"ssh"}})
}
