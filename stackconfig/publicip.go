package stackconfig

import (
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"time"
)

// CheckIPURL answers with the caller's public IPv4 as plain text.
const CheckIPURL = "https://checkip.amazonaws.com"

// HTTPDetector asks url for the caller's public IPv4 address.
func HTTPDetector(url string, timeout time.Duration) IPDetector {
	return func() (netip.Addr, error) {
		client := &http.Client{Timeout: timeout}
		resp, err := client.Get(url)
		if err != nil {
			return netip.Addr{}, fmt.Errorf("GET %s: %w", url, err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return netip.Addr{}, fmt.Errorf("GET %s: HTTP %d", url, resp.StatusCode)
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 64))
		if err != nil {
			return netip.Addr{}, fmt.Errorf("GET %s: %w", url, err)
		}
		text := strings.TrimSpace(string(body))
		ip, err := netip.ParseAddr(text)
		if err != nil || !ip.Is4() {
			return netip.Addr{}, fmt.Errorf("GET %s: answer %q is not an IPv4 address", url, text)
		}
		return ip, nil
	}
}
