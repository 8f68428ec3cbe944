*** Comments ***
Renode run of the nano33ble_renode firmware (pio run -e nano33ble_renode): the protocol records of
docs/protocol.md must arrive on sysbus.uart0 in order (START, ARENA, SUMMARY, DONE status=ok) with
no ERROR record, and layers with enough MACs to span several time quanta must read more than one
quantum (the per-layer ticks measure the layers, not Renode's synchronisation step). Checksums and the
full record sequence are checked by the Python reader on the uart log this suite writes
(tests/test_renode.py, which also passes ANALYSIS).
Run: renode-test --variable ANALYSIS:FILE tests/renode/benchmark.robot, FILE from
`tinyml analyze MODEL.tflite --json --no-arena` of the model the ELF was built with. The uart log
goes to the results folder (renode-test -r).

*** Settings ***
Suite Setup                   Setup
Suite Teardown                Teardown
Test Setup                    Reset Emulation
Test Teardown                 Test Teardown
Resource                      ${RENODEKEYWORDS}
Library                       Collections
Library                       ${CURDIR}/layer_ticks.py

*** Variables ***
${ELF}                        ${CURDIR}/../../.pio/build/nano33ble_renode/firmware.elf
${RESC}                       ${CURDIR}/nano33ble_benchmark.resc
${UART}                       sysbus.uart0
# renode-test gives every suite RESULTS_DIRECTORY (its -r); OUTPUT DIR would be the current folder.
${UART_LOG}                   ${RESULTS_DIRECTORY}/nano33ble_uart0.log
# `tinyml analyze MODEL.tflite --json` of the ELF's model: per-layer MACs for the quantum check.
${ANALYSIS}                   ${EMPTY}
# Instructions per virtual microsecond: `cpu PerformanceInMips` of the .resc.
${MIPS}                       64
# Another time quantum than the .resc's (seconds, e.g. 0.0001 = Renode's default), to compare.
${QUANTUM}                    ${EMPTY}
${MAX_LAYERS}                 256
# Virtual seconds are plenty: a MobileNet-0.25 invoke is ~30 M instructions (< 1 s at 64 MIPS).
${TIMEOUT}                    120
${CRC}                        \\*[0-9A-F]{4}

*** Keywords ***
Start Benchmark Firmware
    Execute Command           $elf=@${ELF}
    Run Keyword If            $QUANTUM    Execute Command    $quantum="${QUANTUM}"
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

Layer Records Then Summary
    # LAYER records up to the SUMMARY record; an ERROR on the way fails the test with its text.
    @{layers}=                Create List
    FOR    ${i}    IN RANGE    ${MAX_LAYERS} + 1
        ${record}=            Wait For Line On Uart    TML2 (ERROR|LAYER|SUMMARY) .*${CRC}    treatAsRegex=true
        Should Not Be Equal   ${record.groups[0]}    ERROR    firmware sent an error record: ${record.line}    values=False
        Exit For Loop If      '${record.groups[0]}' == 'SUMMARY'
        Append To List        ${layers}    ${record.line}
    END
    Should Be Equal           ${record.groups[0]}    SUMMARY    no SUMMARY after ${MAX_LAYERS} LAYER records    values=False
    [Return]                  ${layers}    ${record}

*** Test Cases ***
Benchmark Reports Start Arena Summary And Done Without Error
    Start Benchmark Firmware
    ${start}=                 Wait For Line On Uart    TML2 START fw=\\S+ model=\\w+ clock_hz=64000000 unit=instructions runs=3 warmup=1 ${CRC}    treatAsRegex=true
    Next Record Should Be     ARENA
    ${layers}    ${summary}=  Layer Records Then Summary
    Should Not Be Empty       ${layers}    no LAYER record
    Set Suite Variable        ${LAYER_RECORDS}    ${layers}
    ${info}=                  Execute Command    machine GetTimeSourceInfo
    ${quantum_us}=            Quantum Microseconds    ${info}
    Set Suite Variable        ${QUANTUM_TICKS}    ${{ $quantum_us * int($MIPS) }}
    Should Match Regexp       ${summary.line}    TML2 SUMMARY runs=3 ticks_min=[1-9]\\d* ticks_median=\\d+ ticks_max=\\d+ us_min=\\d+ us_median=\\d+ us_max=\\d+ ${CRC}
    Next Record Should Be     CACHE
    # Renode models no DWT event counters: the firmware detects it and says so
    ${counters}=              Next Record Should Be    COUNTERS
    Should Match Regexp       ${counters.line}    TML2 COUNTERS state=none ${CRC}
    Next Record Should Be     OUTPUT
    ${done}=                  Next Record Should Be    DONE
    Should Match Regexp       ${done.line}    TML2 DONE status=ok records=\\d+ ${CRC}

Layers With Enough MACs Read More Than One Time Quantum
    [Documentation]           Uses the LAYER records of the test above (one emulation run for both).
    Skip If                   not $ANALYSIS    no per-layer MACs: pass --variable ANALYSIS:FILE (tinyml analyze MODEL.tflite --json --no-arena)
    Variable Should Exist     ${LAYER_RECORDS}    the benchmark test above did not get its LAYER records
    ${macs}=                  Layer Macs    ${ANALYSIS}
    ${stuck}=                 Layers At The Quantum Floor    ${LAYER_RECORDS}    ${macs}    ${QUANTUM_TICKS}
    Should Be Empty           ${stuck}    layers read one time quantum (${QUANTUM_TICKS} ticks) or less: ${stuck}
