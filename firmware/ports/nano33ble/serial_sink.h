// Protocol output of the Nano 33 BLE port: an Arduino serial port (USB CDC `Serial` on the board,
// UARTE0 `Serial1` in Renode).
#pragma once
#include <Arduino.h>

#include "model_runner.h"

namespace tinyml {

class SerialSink : public OutputSink {
 public:
  explicit SerialSink(HardwareSerial& port) : port_(port) {}
  void write(const char* data, size_t length) override {
    port_.write(reinterpret_cast<const uint8_t*>(data), length);
  }
  void flush() override { port_.flush(); }

 private:
  HardwareSerial& port_;
};

}  // namespace tinyml
