package infra

import (
	"fmt"
	"sort"
)

// Distro is a host OS the lab runs on: where its AMIs are published and
// who logs in.
type Distro struct {
	Name string
	// User is the login user of the distribution's AMIs.
	User string
	// Kernels are the kernel series its AMIs are published with.
	Kernels []string
	// amiParameter names the public SSM parameter of the latest AMI for an
	// EC2 architecture (x86_64, arm64) and a kernel series.
	amiParameter func(arch, kernel string) string
}

// AmiParameter is the public SSM parameter naming the distribution's
// latest AMI for an architecture and a kernel series.
func (d Distro) AmiParameter(arch, kernel string) string { return d.amiParameter(arch, kernel) }

// CheckKernel refuses a kernel series the distribution publishes no AMI for.
func CheckKernel(distro, kernel string) error {
	d, err := LookupDistro(distro)
	if err != nil {
		return err
	}
	for _, k := range d.Kernels {
		if k == kernel {
			return nil
		}
	}
	return fmt.Errorf("%s AMIs run kernel %v, not %s", distro, d.Kernels, kernel)
}

// DefaultDistro is what a lab runs unless told otherwise.
const DefaultDistro = "al2023"

var distros = map[string]Distro{
	// Amazon Linux 2023 with the 6.1 kernel: what EC2 labs are built for.
	"al2023": {Name: "al2023", User: "ec2-user", Kernels: []string{"6.1", "6.12"}, amiParameter: func(arch, kernel string) string {
		return "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-" + kernel + "-" + arch
	}},
	// Debian 12 (kernel 6.1): Debian publishes its AMIs under its own path,
	// with Debian's names for the architectures.
	"debian-12": {Name: "debian-12", User: "admin", Kernels: []string{"6.1"}, amiParameter: func(arch, _ string) string {
		debArch := map[string]string{"x86_64": "amd64", "arm64": "arm64"}[arch]
		return "/aws/service/debian/release/12/latest/" + debArch
	}},
}

// LookupDistro returns a supported distribution or an error listing them.
func LookupDistro(name string) (Distro, error) {
	d, ok := distros[name]
	if !ok {
		return Distro{}, fmt.Errorf("distribution %q is not supported; known: %v", name, DistroNames())
	}
	return d, nil
}

// DistroNames lists the supported distributions.
func DistroNames() []string {
	names := make([]string, 0, len(distros))
	for n := range distros {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
