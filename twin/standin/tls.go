package standin

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"golang.org/x/crypto/ssh"
)

// NewTLS is the tls stand-in (pulumi-tls v5.2.1's PrivateKey): real keys,
// made here. Only ED25519, the one algorithm the lab asks for.
func NewTLS() *Server {
	s := newServer("tls", "5.2.1")
	s.kinds["tls:index/privateKey:PrivateKey"] = kind{forceNew: []string{"algorithm", "ecdsaCurve", "rsaBits"},
		create: func(in resource.PropertyMap) (string, resource.PropertyMap, error) {
			if alg := str(in, "algorithm"); alg != "ED25519" {
				return "", nil, fmt.Errorf("the tls stand-in makes ED25519 keys only, not %q", alg)
			}
			return ed25519Key()
		}}
	return s
}

func ed25519Key() (string, resource.PropertyMap, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", nil, err
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		return "", nil, err
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return "", nil, err
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return "", nil, err
	}
	pkix, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", nil, err
	}
	sum := sha256.Sum256(sshPub.Marshal())
	privPem := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}))
	out := props(map[string]interface{}{
		"privateKeyOpenssh":          string(pem.EncodeToMemory(block)),
		"privateKeyPem":              privPem,
		"privateKeyPemPkcs8":         privPem,
		"publicKeyOpenssh":           string(ssh.MarshalAuthorizedKey(sshPub)),
		"publicKeyPem":               string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkix})),
		"publicKeyFingerprintSha256": "SHA256:" + strings.TrimRight(base64.StdEncoding.EncodeToString(sum[:]), "="),
	})
	for _, k := range []string{"privateKeyOpenssh", "privateKeyPem", "privateKeyPemPkcs8"} {
		out[resource.PropertyKey(k)] = resource.MakeSecret(out[resource.PropertyKey(k)])
	}
	return fmt.Sprintf("%x", sum[:10]), out, nil
}
