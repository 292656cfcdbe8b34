"""Pure functions of the harness: the comparison rules a verdict rests on."""
import unittest

import torch

from harness import compare


class CompareTest(unittest.TestCase):
    def test_first_mismatch_names_index_and_values(self):
        ref = torch.zeros(3, 4)
        cand = torch.zeros(3, 4)
        cand[1, 2] = 0.5
        result = compare.compare([ref], [cand], 1e-2, 1e-2)
        self.assertFalse(result.ok)
        self.assertEqual("value", result.mismatch.kind)
        self.assertEqual([1, 2], result.mismatch.index)
        self.assertEqual("0", result.mismatch.expected)
        self.assertEqual("0.5", result.mismatch.actual)
        self.assertAlmostEqual(0.5, result.max_abs)

    def test_chunked_comparison_finds_the_global_index(self):
        saved = compare.CHUNK
        compare.CHUNK = 7
        try:
            ref = torch.zeros(5, 6)
            cand = ref.clone()
            cand[3, 4] = 1.0
            result = compare.compare([ref], [cand], 1e-2, 1e-2)
            self.assertEqual([3, 4], result.mismatch.index)
            self.assertTrue(compare.compare([ref], [ref.clone()], 1e-2, 1e-2).ok)
        finally:
            compare.CHUNK = saved

    def test_fingerprint_sees_a_changed_element(self):
        t = torch.randn(1000, 1000)
        before = compare.fingerprint([t])
        self.assertTrue(compare.same_fingerprint(before, compare.fingerprint([t])))
        t[999, 998] += 1.0
        self.assertFalse(compare.same_fingerprint(before, compare.fingerprint([t])))

    def test_tolerance_is_kernelbench_allclose(self):
        ref = torch.tensor([1.0])
        self.assertTrue(compare.compare([ref], [torch.tensor([1.019])], 1e-2, 1e-2).ok)
        self.assertFalse(compare.compare([ref], [torch.tensor([1.03])], 1e-2, 1e-2).ok)

    def test_nan_never_passes_even_where_reference_is_nan(self):
        nan = torch.tensor([float("nan")])
        result = compare.compare([nan], [nan.clone()], 1e-2, 1e-2)
        self.assertFalse(result.ok)
        self.assertEqual("nan", result.mismatch.kind)

    def test_shape_and_dtype_must_match(self):
        self.assertEqual("shape", compare.compare([torch.zeros(2, 3)], [torch.zeros(3, 2)], 1, 1).mismatch.kind)
        self.assertEqual("dtype", compare.compare([torch.zeros(2)], [torch.zeros(2).double()], 1, 1)
                         .mismatch.kind)

    def test_structure_must_match(self):
        self.assertEqual("structure", compare.compare([torch.zeros(1)], [], 1, 1).mismatch.kind)

    def test_degenerate_references(self):
        tiny = torch.full((4, 4), 1e-4)
        self.assertTrue(compare.zero_passes([tiny], 1e-2, 1e-2))
        self.assertFalse(compare.zero_passes([torch.randn(4, 4)], 1e-2, 1e-2))
        self.assertTrue(compare.constant_passes([torch.full((4, 4), 3.0)], 1e-2, 1e-2))
        self.assertFalse(compare.constant_passes([torch.arange(16.0)], 1e-2, 1e-2))

    def test_overlap_of_views_and_fresh_tensors(self):
        base = torch.randn(8, 8)
        self.assertTrue(compare.overlaps(base[2:], base))
        self.assertFalse(compare.overlaps(base.clone(), base))

    def test_identical_treats_nan_as_equal_to_itself(self):
        a = torch.tensor([1.0, float("nan")])
        self.assertTrue(compare.identical([a], [a.clone()]))
        self.assertFalse(compare.identical([a], [torch.tensor([1.0, 2.0])]))

    def test_relative_error_tells_fp32_from_bf16(self):
        torch.manual_seed(0)
        a, b = torch.randn(64, 64), torch.randn(64, 64)
        exact = a.double() @ b.double()
        self.assertLess(compare.relative_error(exact, a @ b), 1e-5)
        self.assertGreater(compare.relative_error(exact, (a.bfloat16() @ b.bfloat16()).float()), 1e-3)


if __name__ == "__main__":
    unittest.main()
