#pragma once

// A mutation that libFuzzer lacks: one short slice of the input repeated up to many thousand
// times. Limits on lengths and depths (a 64 KiB header or trailer field, tens of thousands of
// nested brackets) lie far beyond what byte-wise mutations reach in a bounded run; this reaches
// them without knowing where they are. Every other mutation is libFuzzer's own.
//
// Include it in exactly one file of a target: it defines the target's LLVMFuzzerCustomMutator.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <random>

extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);

namespace outrigger::fuzz {

// Repeats data[start, start + len) after itself; 0 when there is no room.
inline size_t repeatSlice(uint8_t* data, size_t size, size_t max_size, unsigned seed) {
  if (size == 0 || size >= max_size) return 0;
  std::minstd_rand rng(seed);
  size_t len = 1 + rng() % std::min<size_t>(size, 16);
  size_t start = rng() % (size - len + 1);
  size_t room = (max_size - size) / len;
  if (room == 0) return 0;
  // Counts spread over orders of magnitude: 2^k for k uniform in [0, 17].
  size_t times = std::min(room, size_t{1} << (rng() % 18));
  size_t end = start + len;
  size_t added = times * len;
  std::memmove(data + end + added, data + end, size - end);
  for (size_t i = 0; i < times; ++i) std::memcpy(data + end + i * len, data + start, len);
  return size + added;
}

}  // namespace outrigger::fuzz

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size,
                                          unsigned int seed) {
  // One mutation in eight repeats a slice.
  if (seed % 8 == 0) {
    if (size_t n = outrigger::fuzz::repeatSlice(data, size, max_size, seed / 8)) return n;
  }
  return LLVMFuzzerMutate(data, size, max_size);
}
