"""The runner's ERROR record names TFLM's allocation shortfall: firmware/tflm/tflm_log.cc reads it
from the line TFLM logs (host-compiled with g++; the runner itself needs TFLM, see test_emulate)."""
import subprocess

import cbuild

MAIN = r'''
#include <stdio.h>
#include "tflm_log.h"
int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) tinyml::note_tflm_log(argv[i]);
  tinyml::AllocationShortfall s = tinyml::last_allocation_shortfall();
  printf("%d %u %u %u\n", s.seen ? 1 : 0, (unsigned)s.requested, (unsigned)s.available, (unsigned)s.missing);
  return 0;
}
'''


def test_shortfall_is_parsed_from_tflm_log_lines(tmp_path_factory):
    main = tmp_path_factory.mktemp("tflm_log") / "main.cc"
    main.write_text(MAIN)
    tflm = cbuild.REPO / "firmware" / "tflm"
    binary = cbuild.build_host_program(tmp_path_factory, "tflm_log", [tflm / "tflm_log.cc", main],
                                       include_dirs=(tflm,))

    def run(*lines):
        return subprocess.run([binary, *lines], capture_output=True, text=True, check=True).stdout.split()

    assert run("Failed to resize buffer. Requested: 24164, available 2032, missing: 22132") == \
        ["1", "24164", "2032", "22132"]
    # the last failure wins; other log lines leave it alone
    assert run("Failed to allocate tail memory. Requested: 8, available 4, missing: 4",
               "\r\n", "Failed starting model allocation.") == ["1", "8", "4", "4"]
    assert run("HALTED") == ["0", "0", "0", "0"]
