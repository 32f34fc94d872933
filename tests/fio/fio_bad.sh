#!/usr/bin/env bash
# Bad URIs and options are refused with fio's normal error output carrying
# aisio's message (exit 1), never a crash or a pass.
. "$(dirname "$0")/fio_lib.sh"
job=(--thread --name=bad --rw=randread --bs=4k --size=1M --iodepth=4)

run_fails 'URI not escaped in --filename' "write the URI with '\\:'" \
	"${job[@]}" --filename=emu:64M
run_fails 'bad size in the URI' "bad size 'abc'" \
	"${job[@]}" --filename='emu\:abc'
run_fails 'unknown scheme' 'nope:1' \
	"${job[@]}" --aisio_uri=nope:1
run_fails 'no such PCI function' '0000:ff:1f.7' \
	"${job[@]}" --aisio_uri=pci:0000:ff:1f.7
run_fails 'no such file' "$TDIR/missing" \
	"${job[@]}" --aisio_uri="file:$TDIR/missing"
run_fails 'unknown backend' 'bogus' \
	"${job[@]}" --aisio_uri=emu:64M --aisio_be=bogus
run_fails 'aisio_poll out of range' 'aisio_poll' \
	"${job[@]}" --aisio_uri=emu:64M --aisio_poll=7
run_fails 'unknown engine option' 'aisio_bogus' \
	"${job[@]}" --aisio_uri=emu:64M --aisio_bogus=1
run_fails 'block size not a multiple of the LBA size' 'multiple of the LBA size' \
	--thread --name=bad --rw=randread --bs=1000 --size=1M --aisio_uri=emu:64M
run_fails 'block size above MDTS' "largest transfer" \
	--thread --name=bad --rw=randread --bs=4M --size=8M --aisio_uri=emu:64M
run_fails 'queue depth above the device maximum' 'iodepth=64' \
	--thread --name=bad --rw=randread --bs=4k --size=1M --iodepth=64 --aisio_uri=emu:64M,mqes=16
run_fails 'two devices in one job' 'a job drives one device' \
	"${job[@]}" --filename='emu\:64M:emu\:32M'
run_fails '--iomem with the engine (buffers must be the device'"'"'s DMA memory)' \
	'conflicts with specified IO engine' "${job[@]}" --aisio_uri=emu:64M --iomem=malloc
finish
