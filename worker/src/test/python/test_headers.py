"""The flags the host's precompiled header is made with, and the request that asks for it."""
import unittest

from harness import headers
from harness.protocol import Request


class HeadersTest(unittest.TestCase):
    def test_flags_are_torchs_own_for_main_cpp_without_the_extension_name(self):
        flags = headers.cxx_flags()
        self.assertTrue(any(f.startswith("-std=c++") for f in flags), flags)
        self.assertIn("-fPIC", flags)
        self.assertIn("-DTORCH_API_INCLUDE_EXTENSION_H", flags)
        self.assertFalse([f for f in flags if f.startswith("-DTORCH_EXTENSION_NAME")], flags)
        self.assertFalse([f for f in flags if "\\" in f], "shell quoting undone: " + str(flags))

    def test_a_headers_request_needs_no_candidate(self):
        request = Request.parse('{"id": "headers", "mode": "headers", "backend": "cpu", "scratch_dir": "/s"}')
        self.assertEqual(("headers", "/s", "/s"), (request.mode, request.scratch_dir, request.build_dir))
        with self.assertRaises(ValueError) as missing:
            Request.parse('{"id": "c", "mode": "compile", "backend": "cpu", "scratch_dir": "/s"}')
        self.assertIn("problem_path", str(missing.exception))


if __name__ == "__main__":
    unittest.main()
