"""Finding the kernels a candidate declares, however it writes them."""
import unittest

from harness import loader

SOURCE = """
template <typename T>
__global__ void __launch_bounds__(256) relu_kernel(const T* x, T* y, int n) {}
__global__ static void sum_rows(float* out) {}
extern "C" __global__ void plain_k(float* a) {}
__device__ float helper(float v) { return v; }
"""


class LoaderTest(unittest.TestCase):
    def test_declared_cuda_kernels(self):
        self.assertEqual(["plain_k", "relu_kernel", "sum_rows"], loader.declared_cuda_kernels(SOURCE))


if __name__ == "__main__":
    unittest.main()
