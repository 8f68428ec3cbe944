// The few nRF52840 and Cortex-M4 registers the board's counters use, by address (nRF52840 Product
// Specification v1.7: NVMC 4.3.10, TIMER 6.30; ARMv7-M Architecture Reference Manual: DWT C1.8,
// DEMCR C1.6.5, NVIC B3.4). Plain addresses instead of the vendor/CMSIS headers keep this port
// compilable in a host test against stub headers.
#pragma once
#include <stdint.h>

namespace tinyml {
namespace nrf52840 {

inline volatile uint32_t& reg(uint32_t address) {
  return *reinterpret_cast<volatile uint32_t*>(static_cast<uintptr_t>(address));
}

// NVMC instruction cache. ICACHECNF resets to 0 (off); IHIT/IMISS count while CACHEPROFEN is set
// and are cleared by writing 0.
constexpr uint32_t kNvmcIcachecnf = 0x4001E540u;
constexpr uint32_t kNvmcIhit = 0x4001E548u;
constexpr uint32_t kNvmcImiss = 0x4001E54Cu;
constexpr uint32_t kIcachecnfCacheEn = 1u << 0;
constexpr uint32_t kIcachecnfCacheProfEn = 1u << 8;

// TIMER4 (not used by the mbed core: its us ticker is TIMER1), peripheral ID 27 = IRQ 27.
constexpr uint32_t kTimer4 = 0x4001B000u;
constexpr uint32_t kTimerTasksStart = 0x000u;
constexpr uint32_t kTimerTasksStop = 0x004u;
constexpr uint32_t kTimerTasksClear = 0x00Cu;
constexpr uint32_t kTimerEventsCompare0 = 0x140u;
constexpr uint32_t kTimerShorts = 0x200u;       // bit 0: COMPARE[0] -> CLEAR
constexpr uint32_t kTimerIntenset = 0x304u;     // bit 16: COMPARE[0]
constexpr uint32_t kTimerIntenclr = 0x308u;
constexpr uint32_t kTimerMode = 0x504u;         // 0: timer
constexpr uint32_t kTimerBitmode = 0x508u;      // 3: 32 bit
constexpr uint32_t kTimerPrescaler = 0x510u;    // f = 16 MHz / 2^PRESCALER
constexpr uint32_t kTimerCc0 = 0x540u;
constexpr uint32_t kTimerClockHz = 16000000u;
constexpr uint32_t kTimer4Irq = 27u;

// Cortex-M4 debug: DEMCR.TRCENA gates the DWT; DWT counters are consecutive words from CYCCNT.
constexpr uint32_t kDemcr = 0xE000EDFCu;
constexpr uint32_t kDemcrTrcena = 1u << 24;
constexpr uint32_t kDwtCtrl = 0xE0001000u;
constexpr uint32_t kDwtCyccnt = 0xE0001004u;
constexpr uint32_t kDwtCpicnt = 0xE0001008u;
constexpr uint32_t kDwtExccnt = 0xE000100Cu;
constexpr uint32_t kDwtSleepcnt = 0xE0001010u;
constexpr uint32_t kDwtLsucnt = 0xE0001014u;
constexpr uint32_t kDwtFoldcnt = 0xE0001018u;
constexpr uint32_t kDwtCtrlCyccntEna = 1u << 0;
// CPIEVTENA(17) EXCEVTENA(18) SLEEPEVTENA(19) LSUEVTENA(20) FOLDEVTENA(21): the 8-bit counters
// count only while their bit is set.
constexpr uint32_t kDwtCtrlEventCounters = 0x1Fu << 17;
constexpr uint32_t kDwtCtrlNoPrfCnt = 1u << 24;  // no profiling counters implemented
constexpr uint32_t kDwtCtrlNoCycCnt = 1u << 25;  // no cycle counter implemented

constexpr uint32_t kNvicIser0 = 0xE000E100u;
constexpr uint32_t kNvicIcer0 = 0xE000E180u;
constexpr uint32_t kNvicIcpr0 = 0xE000E280u;
constexpr uint32_t kNvicIpr0 = 0xE000E400u;  // one byte per IRQ

}  // namespace nrf52840
}  // namespace tinyml
