# ENA Lab. `make up` brings a lab up; `make test` runs every test.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

SHELL_SCRIPTS = $(shell find . -path ./.cache -prune -o -path ./rust/target -prune -o -name '*.sh' -print) infra/hostfiles/ena-lab-ttl

.PHONY: up preview destroy outputs ssh recover report matrix tour exercise test test-go test-engine test-twin test-shell test-kmod test-remote test-rust test-qemu test-ena-tap bench

up:
	tools/lab.sh up
preview:
	tools/lab.sh preview
destroy:
	tools/lab.sh destroy
outputs:
	tools/lab.sh outputs
ssh:
	tools/lab.sh ssh
recover:
	tools/lab.sh recover
# The host's validation reports into reports/<stack>/ (index.html: the newest, with the trend).
report:
	tools/lab.sh report

# The driver watched from the device: a VM, its trace told in chapters
# (ENA_TOUR_DRIVER=ena_custom for our module).
tour:
	tools/tour.sh --driver $${ENA_TOUR_DRIVER:-ena}

# An exercise (exercises/README.md): make exercise N=1 [PATCH=my.patch].
exercise:
	@[[ -n "$${N:-}" ]] || { echo "make exercise N=1..4 [PATCH=file] (exercises/README.md)"; exit 2; }
	tools/exercise.sh "$$N" $${PATCH:+"$$PATCH"}

# The README's driver x kernel matrix, from the last kmod suite's results.
matrix:
	tools/matrix.sh update

# Every test. Each part installs what it needs (apt packages, Go modules, crates).
test: test-go test-engine test-shell test-kmod test-remote test-rust test-qemu test-ena-tap test-twin
	@echo "make test: every suite passed"

test-go:
	@echo "== Go: the Pulumi program under mocks, the host scripts it ships"
	@unformatted=$$(gofmt -l $$(git ls-files -co --exclude-standard '*.go')); \
	  if [[ -n "$$unformatted" ]]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	go vet ./...
	go test ./...

test-engine:
	@echo "== engine: the program through the real Pulumi CLI (built from the module proxy), providers stood in"
	tools/apt-install.sh openssh-server openssh-client
	go vet -tags engine .
	root=$$(twin/cli/build.sh) && ENA_LAB_PULUMI_ROOT=$$root go test -tags engine -run TestEngine -count=1 .

test-twin:
	@echo "== twin: the whole lab through the real engine on the EC2 twin (Debian 12 VM, two emulated ENAs, IMDSv2)"
	twin/metadata/test.sh
	qemu/build.sh >/dev/null
	twin/rootfs/build.sh >/dev/null
	twin/metadata/build.sh >/dev/null
	root=$$(twin/cli/build.sh) && ENA_LAB_PULUMI_ROOT=$$root go test -tags engine -run TestTwin -count=1 -timeout 80m -v .

test-shell:
	@echo "== shellcheck, and tools/lab.sh (make up/destroy/ssh) against a stand-in pulumi"
	tools/apt-install.sh shellcheck
	shellcheck -x $(SHELL_SCRIPTS)
	tools/test/lab-test.sh

test-kmod:
	@echo "== kmod: patch series, build.sh for 6.1 and 6.12, the module in 6.1 and 6.12 VMs"
	kmod/test/run.sh

test-remote:
	@echo "== remote: host steps against real namespaces, iperf3 and a 6.1 VM"
	remote/test/run.sh

test-rust:
	@echo "== rust: ENA core vs device model vs the C original"
	rust/test.sh

test-qemu:
	@echo "== qemu: the ENA device (Rust model) under the real ena and ena_custom drivers"
	qemu/test/run.sh

test-ena-tap:
	@echo "== ena-tap: the Rust userspace driver on an emulated ENI, bridged to a TAP, beside ena"
	rust/ena-tap/test/run.sh

bench:
	kmod/bench.sh
	remote/test/bench.sh
	rust/bench.sh
	qemu/bench.sh
