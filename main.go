// Command ena-lab is the Pulumi program behind `pulumi up`: a Nitro host
// with a secondary ENI, and the steps that build, bind and prove ena_custom.
package main

import "github.com/pulumi/pulumi/sdk/v3/go/pulumi"

func main() {
	pulumi.Run(program)
}
