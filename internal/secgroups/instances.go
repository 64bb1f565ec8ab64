package secgroups

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// Instance is one EC2 instance: its groups and addresses.
type Instance struct {
	ID string
	// Name is the instance's Name tag, or "".
	Name string
	// State is "running", "stopped", ...
	State string
	// Groups are the ids of the groups on any of its interfaces.
	Groups []string
	// Private are its private IPv4 addresses, the primary first.
	Private []netip.Addr
	// Public are its public or Elastic IPv4 addresses.
	Public []netip.Addr
	// IPv6 are its IPv6 addresses (global: no NAT, the same inside and out).
	IPv6 []netip.Addr
}

// Label is the instance as a person names it: "i-0abc (api-server)".
func (in *Instance) Label() string {
	if in.Name == "" {
		return in.ID
	}
	return in.ID + " (" + in.Name + ")"
}

type rawInstances struct {
	Reservations *[]struct {
		Instances []rawInstance `json:"Instances"`
	} `json:"Reservations"`
}

type rawGroupRef struct {
	GroupID   string `json:"GroupId"`
	GroupName string `json:"GroupName"`
}

type rawAssociation struct {
	PublicIP string `json:"PublicIp"`
}

type rawInstance struct {
	InstanceID       string        `json:"InstanceId"`
	PrivateIPAddress string        `json:"PrivateIpAddress"`
	PublicIPAddress  string        `json:"PublicIpAddress"`
	IPv6Address      string        `json:"Ipv6Address"`
	SecurityGroups   []rawGroupRef `json:"SecurityGroups"`
	State            struct {
		Name string `json:"Name"`
	} `json:"State"`
	Tags []struct {
		Key   string `json:"Key"`
		Value string `json:"Value"`
	} `json:"Tags"`
	NetworkInterfaces []struct {
		Groups             []rawGroupRef   `json:"Groups"`
		PrivateIPAddress   string          `json:"PrivateIpAddress"`
		Association        *rawAssociation `json:"Association"`
		PrivateIPAddresses []struct {
			PrivateIPAddress string          `json:"PrivateIpAddress"`
			Primary          bool            `json:"Primary"`
			Association      *rawAssociation `json:"Association"`
		} `json:"PrivateIpAddresses"`
		IPv6Addresses []struct {
			IPv6Address string `json:"Ipv6Address"`
		} `json:"Ipv6Addresses"`
	} `json:"NetworkInterfaces"`
}

// ReadInstancesFile reads a describe-instances output from path.
func ReadInstancesFile(path string) ([]Instance, error) {
	data, err := readBounded(path)
	if err != nil {
		return nil, err
	}
	in, err := ParseInstances(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return in, nil
}

// ParseInstances reads a describe-instances output.
func ParseInstances(data []byte) ([]Instance, error) {
	var raw rawInstances
	if err := decodeTop(data, &raw, "describe-instances"); err != nil {
		return nil, err
	}
	if raw.Reservations == nil {
		return nil, errors.New("no Reservations key: this is not the output of `aws ec2 describe-instances`")
	}
	var out []Instance
	seen := map[string]bool{}
	for i, res := range *raw.Reservations {
		for j, ri := range res.Instances {
			where := fmt.Sprintf("Reservations[%d].Instances[%d]", i, j)
			if ri.InstanceID == "" {
				return nil, fmt.Errorf("%s: no InstanceId", where)
			}
			if seen[ri.InstanceID] {
				return nil, fmt.Errorf("%s: instance %s is listed twice", where, ri.InstanceID)
			}
			seen[ri.InstanceID] = true
			in, err := instance(ri)
			if err != nil {
				return nil, fmt.Errorf("%s (%s): %w", where, ri.InstanceID, err)
			}
			out = append(out, in)
		}
	}
	return out, nil
}

func instance(ri rawInstance) (Instance, error) {
	in := Instance{ID: ri.InstanceID, State: ri.State.Name}
	for _, t := range ri.Tags {
		if t.Key == "Name" {
			in.Name = t.Value
		}
	}
	addGroup := func(g rawGroupRef) error {
		if !strings.HasPrefix(g.GroupID, "sg-") {
			return fmt.Errorf("GroupId %q is not a security group id (sg-...)", g.GroupID)
		}
		if !slices.Contains(in.Groups, g.GroupID) {
			in.Groups = append(in.Groups, g.GroupID)
		}
		return nil
	}
	var bad error
	add := func(list *[]netip.Addr, s, key string, want func(netip.Addr) bool) {
		if s == "" || bad != nil {
			return
		}
		a, err := netip.ParseAddr(s)
		if err != nil || !want(a) {
			bad = fmt.Errorf("%s %q is not an address of that family", key, s)
			return
		}
		if !slices.Contains(*list, a) {
			*list = append(*list, a)
		}
	}
	is4 := func(a netip.Addr) bool { return a.Is4() }
	is6 := func(a netip.Addr) bool { return a.Is6() && !a.Is4In6() }
	for _, g := range ri.SecurityGroups {
		if err := addGroup(g); err != nil {
			return in, fmt.Errorf("SecurityGroups: %w", err)
		}
	}
	add(&in.Private, ri.PrivateIPAddress, "PrivateIpAddress", is4)
	add(&in.Public, ri.PublicIPAddress, "PublicIpAddress", is4)
	add(&in.IPv6, ri.IPv6Address, "Ipv6Address", is6)
	for k, ni := range ri.NetworkInterfaces {
		for _, g := range ni.Groups {
			if err := addGroup(g); err != nil {
				return in, fmt.Errorf("NetworkInterfaces[%d].Groups: %w", k, err)
			}
		}
		add(&in.Private, ni.PrivateIPAddress, fmt.Sprintf("NetworkInterfaces[%d].PrivateIpAddress", k), is4)
		if ni.Association != nil {
			add(&in.Public, ni.Association.PublicIP, fmt.Sprintf("NetworkInterfaces[%d].Association.PublicIp", k), is4)
		}
		for m, pa := range ni.PrivateIPAddresses {
			add(&in.Private, pa.PrivateIPAddress, fmt.Sprintf("NetworkInterfaces[%d].PrivateIpAddresses[%d].PrivateIpAddress", k, m), is4)
			if pa.Association != nil {
				add(&in.Public, pa.Association.PublicIP, fmt.Sprintf("NetworkInterfaces[%d].PrivateIpAddresses[%d].Association.PublicIp", k, m), is4)
			}
		}
		for m, a := range ni.IPv6Addresses {
			add(&in.IPv6, a.IPv6Address, fmt.Sprintf("NetworkInterfaces[%d].Ipv6Addresses[%d].Ipv6Address", k, m), is6)
		}
	}
	return in, bad
}

// Members returns the instances that carry group id.
func Members(instances []Instance, id string) []*Instance {
	var out []*Instance
	for i := range instances {
		if slices.Contains(instances[i].Groups, id) {
			out = append(out, &instances[i])
		}
	}
	return out
}
