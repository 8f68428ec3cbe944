*** Comments ***
Renode run of the nano33ble_renode firmware (pio run -e nano33ble_renode): the protocol records of
docs/protocol.md must arrive on sysbus.uart0 in order (START, ARENA, SUMMARY, DONE status=ok) with
no ERROR record. Checksums and the full record sequence are checked by the Python reader on the
uart log this suite writes (tests/test_renode.py). Run: renode-test tests/renode/benchmark.robot

*** Settings ***
Suite Setup                   Setup
Suite Teardown                Teardown
Test Setup                    Reset Emulation
Test Teardown                 Test Teardown
Resource                      ${RENODEKEYWORDS}

*** Variables ***
${ELF}                        ${CURDIR}/../../.pio/build/nano33ble_renode/firmware.elf
${RESC}                       ${CURDIR}/nano33ble_benchmark.resc
${UART}                       sysbus.uart0
${UART_LOG}                   ${OUTPUT DIR}/nano33ble_uart0.log
# Virtual seconds are plenty: a MobileNet-0.25 invoke is ~30 M instructions (< 1 s at 64 MIPS).
${TIMEOUT}                    120
${CRC}                        \\*[0-9A-F]{4}

*** Keywords ***
Start Benchmark Firmware
    Execute Command           $elf=@${ELF}
    Execute Command           include @${RESC}
    Execute Command           ${UART} CreateFileBackend @${UART_LOG} true
    Create Terminal Tester    ${UART}    timeout=${TIMEOUT}
    Start Emulation

Next Record Should Be
    [Arguments]               ${expected}
    # The first record of either type: an ERROR before ${expected} fails the test with its text.
    ${record}=                Wait For Line On Uart    TML2 (ERROR|${expected}) .*${CRC}    treatAsRegex=true
    Should Be Equal           ${record.groups[0]}    ${expected}    firmware sent an error record: ${record.line}    values=False
    [Return]                  ${record}

*** Test Cases ***
Benchmark Reports Start Arena Summary And Done Without Error
    Start Benchmark Firmware
    ${start}=                 Wait For Line On Uart    TML2 START fw=\\S+ model=\\w+ clock_hz=64000000 unit=instructions runs=3 warmup=1 ${CRC}    treatAsRegex=true
    Next Record Should Be     ARENA
    ${summary}=               Next Record Should Be    SUMMARY
    Should Match Regexp       ${summary.line}    TML2 SUMMARY runs=3 ticks_min=[1-9]\\d* ticks_median=\\d+ ticks_max=\\d+ us_min=\\d+ us_median=\\d+ us_max=\\d+ ${CRC}
    Next Record Should Be     CACHE
    # Renode models no DWT event counters: the firmware detects it and says so
    ${counters}=              Next Record Should Be    COUNTERS
    Should Match Regexp       ${counters.line}    TML2 COUNTERS state=none ${CRC}
    Next Record Should Be     OUTPUT
    ${done}=                  Next Record Should Be    DONE
    Should Match Regexp       ${done.line}    TML2 DONE status=ok records=\\d+ ${CRC}
