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
#   make install         the module, the tools, the udev rule and modules-load.d file
#                        (honours DESTDIR and PREFIX; the module goes to
#                        DESTDIR/lib/modules/KVER/updates, KVER from KDIR)
#   make modules_install the module only (honours INSTALL_MOD_PATH/DIR)
#   make clean

KDIR ?= /lib/modules/$(shell uname -r)/build
BUILD := $(CURDIR)/build
# The release; dkms.conf's PACKAGE_VERSION must match (scripts/dkms-check.sh checks).
VERSION := 0.1

DESTDIR ?=
PREFIX ?= /usr/local
# udev and modules-load only read these system directories, not ones under /usr/local.
UDEVDIR ?= $(or $(shell pkg-config --variable=udevdir udev 2>/dev/null),/lib/udev)
MODULESLOADDIR ?= /etc/modules-load.d
INSTALL_MOD_DIR ?= updates
MOD_PATH = $(or $(DESTDIR),$(INSTALL_MOD_PATH))
KVER = $(shell cat $(KDIR)/include/config/kernel.release 2>/dev/null)
sign_key = $(patsubst "%",%,$(shell sed -n 's/^CONFIG_MODULE_SIG_KEY=//p' \
	$(KDIR)/include/config/auto.conf 2>/dev/null))
sign_key_exists = $(wildcard $(sign_key) $(KDIR)/$(sign_key))

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

# Headers packages have no signing key: then install unsigned, without sign-file's errors.
# The test module (events_api_test) is not installed. Headers have no System.map, so
# kbuild skips depmod: run it here when installing on this machine.
modules_install: modules
	@test -n "$(KVER)" || { echo "no kernel release in $(KDIR)" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) INSTALL_MOD_DIR=$(INSTALL_MOD_DIR) \
		$(if $(MOD_PATH),INSTALL_MOD_PATH=$(MOD_PATH)) \
		$(if $(call sign_key_exists),,CONFIG_MODULE_SIG_ALL=) modules_install
	rm -f $(MOD_PATH)/lib/modules/$(KVER)/$(INSTALL_MOD_DIR)/kmod/events_api_test.ko*
	$(if $(MOD_PATH),,depmod -a $(KVER))

# The tools, library, pkg-config file, man pages and unit come from userspace/'s
# own install target. On this machine (no DESTDIR), as root, the group of the
# udev rule is created when missing.
install: modules_install
	$(MAKE) -C userspace install DESTDIR=$(DESTDIR) PREFIX=$(PREFIX)
	install -D -m 0644 packaging/udev/60-events.rules \
		$(DESTDIR)$(UDEVDIR)/rules.d/60-events.rules
	install -D -m 0644 packaging/modules-load.d/events.conf \
		$(DESTDIR)$(MODULESLOADDIR)/events.conf
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && ! getent group events >/dev/null; then \
		echo "groupadd --system events"; groupadd --system events; \
	fi

clean:
	-test -d "$(KDIR)" && $(MAKE) -C $(KDIR) M=$(CURDIR) clean
	$(MAKE) -C userspace clean
	$(MAKE) -C selftests clean
	rm -rf $(BUILD)
