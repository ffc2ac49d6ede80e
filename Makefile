# SPDX-License-Identifier: GPL-2.0
#
# events: build the module, the tools and the tests; boot them in a VM.
#
#   make                 module (against KDIR), tools and selftests
#   make run             boot a VM with the module loaded and show it working
#   make check           every test on every kernel; ends "N passed, N failed"
#   make bench           events against pipe, AF_UNIX and /dev/kmsg in one VM
#   make lint            checkpatch --strict, sparse C=2, W=1
#   make load / unload   insmod/rmmod on this machine (root)
#   make install         modules_install (honours INSTALL_MOD_PATH/DIR)
#   make clean

KDIR ?= /lib/modules/$(shell uname -r)/build
BUILD := $(CURDIR)/build

.PHONY: all modules userspace selftests run shell check bench lint load unload \
	install modules_install clean

all: modules userspace selftests

modules:
	@test -d "$(KDIR)" || { echo "no kernel build tree at $(KDIR):" \
		"install the headers for this kernel or pass KDIR=..." >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

userspace:
	$(MAKE) -C userspace

selftests:
	$(MAKE) -C selftests KSFT_DIR=$$(scripts/ksrc.sh)/tools/testing/selftests \
		OUTPUT=$(BUILD)/selftests

run:
	scripts/run.sh demo

shell:
	scripts/run.sh shell

check:
	scripts/check.sh

bench:
	scripts/setup.sh
	$(MAKE) selftests
	scripts/vm-run.sh $$(scripts/kernels.sh 6.12) bench

lint:
	scripts/lint.sh

load: modules
	insmod kmod/events.ko $(EVENTS_PARAMS)

unload:
	rmmod events

install modules_install:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules_install

clean:
	-test -d "$(KDIR)" && $(MAKE) -C $(KDIR) M=$(CURDIR) clean
	$(MAKE) -C userspace clean
	$(MAKE) -C selftests clean
	rm -rf $(BUILD)
