package cni

import (
	"context"
	"net"
	"slices"
	"testing"
)

func TestPrimaryAddresses(t *testing.T) {
	cidr := func(s string) net.Addr {
		ip, n, err := net.ParseCIDR(s)
		if err != nil {
			t.Fatal(err)
		}
		n.IP = ip
		return n
	}
	tests := []struct {
		name    string
		give    []net.Addr
		want    []string
		wantErr bool
	}{
		{name: "IPv4 only", give: []net.Addr{cidr("10.88.0.7/16")}, want: []string{"10.88.0.7"}},
		{name: "dual stack, IPv4 first whatever the order", give: []net.Addr{cidr("fd88::7/64"), cidr("10.88.0.7/16")},
			want: []string{"10.88.0.7", "fd88::7"}},
		{name: "link-local and loopback skipped", give: []net.Addr{cidr("fe80::1/64"), cidr("127.0.0.1/8"), cidr("169.254.1.1/16"), cidr("fd88::7/64")},
			want: []string{"fd88::7"}},
		{name: "first of each family", give: []net.Addr{cidr("10.88.0.7/16"), cidr("10.88.0.8/16")}, want: []string{"10.88.0.7"}},
		{name: "nothing global", give: []net.Addr{cidr("fe80::1/64")}, wantErr: true},
		{name: "no address", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := primaryAddresses(tt.give)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// TestInterfaceAddressesInANamespace reads the test's own network namespace
// through its /proc path, as dockercri reads a pause container's.
func TestInterfaceAddressesInANamespace(t *testing.T) {
	ifName, want := hostInterfaceWithIPv4(t)
	got, err := interfaceAddresses(context.Background(), "/proc/self/ns/net", ifName)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 || got[0] != want {
		t.Fatalf("addresses of %s = %v, want %s first", ifName, got, want)
	}
	if _, err := interfaceAddresses(context.Background(), "/proc/self/ns/net", "no-such-if0"); err == nil {
		t.Fatal("a missing interface gave no error")
	}
	if _, err := interfaceAddresses(context.Background(), "/nonexistent/ns/net", ifName); err == nil {
		t.Fatal("a missing namespace gave no error")
	}
	n := &Network{ifName: ifName}
	if _, err := n.Addresses(context.Background(), Pod{ID: "x"}); err == nil {
		t.Fatal("a pod without a namespace gave no error")
	}
}

// hostInterfaceWithIPv4 finds an interface of this namespace with a global
// IPv4 address, and that address.
func hostInterfaceWithIPv4(t *testing.T) (string, string) {
	ifs, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, ifi := range ifs {
		addrs, _ := ifi.Addrs()
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil && ipn.IP.IsGlobalUnicast() {
				return ifi.Name, ipn.IP.String()
			}
		}
	}
	t.Skip("no interface with a global IPv4 address in this namespace: nothing to read back")
	return "", ""
}
