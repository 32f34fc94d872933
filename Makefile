# aisio: top-level entry points. The build itself is Meson + ninja.
BUILD      ?= build
ASAN_BUILD ?= build-asan
MESON_OPTS ?= -Dwerror=true
# make install [PREFIX=/usr] [DESTDIR=/tmp/root]: PREFIX is the build's
# prefix (meson's --prefix), DESTDIR a staging root in front of it.
PREFIX     ?= /usr/local

.PHONY: all deps demo test test-unit test-asan test-vm test-pkg install deb bench vm-shell clean

all: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

deps:
	@scripts/install-deps.sh build

$(BUILD)/build.ninja:
	meson setup $(BUILD) $(MESON_OPTS)

$(ASAN_BUILD)/build.ninja:
	meson setup $(ASAN_BUILD) $(MESON_OPTS) -Db_sanitize=address,undefined -Db_lundef=false

# The main job on the built-in device model.
demo: all
	$(BUILD)/aisio perf run --runtime 3 --threads 1 --qdepth 64 --iopattern randread emu:1G
	scripts/homi-demo.sh $(BUILD)

# Every test: unit, model and host suites in the normal and the sanitizer
# build, then the QEMU guest suite, the installed library (install) and the
# Debian packages (pkg); ends with 'N passed, N failed'.
test:
	@scripts/install-deps.sh test
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)
	-meson test -C $(BUILD) --no-rebuild --print-errorlogs --suite unit --suite model --suite host --suite xfs --suite vm --suite python --suite install --suite pkg
	-ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  meson test -C $(ASAN_BUILD) --no-rebuild --print-errorlogs --suite unit --suite model --suite host --suite xfs
	@scripts/test-summary.py $(BUILD) $(ASAN_BUILD)

# The QEMU guest suite alone (boots guests under emulation; testbed/README.md).
test-vm: all
	meson test -C $(BUILD) --no-rebuild --print-errorlogs --suite vm

# An interactive shell in a testbed guest (Ctrl-A X quits).
vm-shell: all
	testbed/run.sh --cache $(BUILD)/testbed-cache $(VM_OPTS) --shell

# The Debian packages built from this tree and checked (lintian, contents, a
# program built against them): the pkg suite, alone.
test-pkg: all
	meson test -C $(BUILD) --no-rebuild --print-errorlogs --suite pkg

# meson install of the normal build; honours PREFIX and DESTDIR.
install: all
	@if [ "$$(meson introspect $(BUILD) --buildoptions | python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "prefix"))')" != "$(PREFIX)" ]; then \
		meson configure $(BUILD) -Dprefix=$(PREFIX) && ninja -C $(BUILD); fi
	DESTDIR="$(DESTDIR)" meson install -C $(BUILD) --no-rebuild

# Binary Debian packages in the parent folder (debian/; needs scripts/install-deps.sh pkg).
deb:
	@scripts/install-deps.sh pkg
	dpkg-buildpackage -us -uc -b

bench: all
	@scripts/install-deps.sh bench
	bench/run-all.sh

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
