"""The LLM-ready text: compiler output trimmed to what matters."""
import unittest

from harness import summary

NINJA_LOG = """Error building extension 'relu_ext': [1/2] c++ -MMD -MF main.o.d -DTORCH_EXTENSION_NAME=relu_ext -isystem /x
FAILED: main.o
c++ -MMD -MF main.o.d -DTORCH_EXTENSION_NAME=relu_ext -c /tmp/main.cpp -o main.o
/tmp/main.cpp: In function 'at::Tensor relu_forward(at::Tensor)':
/tmp/main.cpp:5:22: error: invalid conversion from 'const char*' to 'int' [-fpermissive]
    5 |   int not_a_tensor = "text";
      |                      ^~~~~~
/tmp/main.cpp:7:1: warning: no return statement
ninja: build stopped: subcommand failed.
"""


class SummaryTest(unittest.TestCase):
    def test_compiler_lines_keep_the_error_and_its_source_line(self):
        lines = summary.compiler_lines(NINJA_LOG)
        self.assertEqual("Error building extension 'relu_ext'", lines[0])
        self.assertIn("/tmp/main.cpp:5:22: error: invalid conversion from 'const char*' to 'int' [-fpermissive]",
                      lines)
        self.assertIn("    5 |   int not_a_tensor = \"text\";", lines)
        self.assertFalse(any("-MMD" in line for line in lines))
        self.assertFalse(any("warning" in line for line in lines))

    def test_without_error_lines_the_tail_is_kept(self):
        self.assertEqual(["linker went away"], summary.compiler_lines("linker went away\n"))

    def test_incorrect_summary_names_trial_index_and_values(self):
        text = summary.for_verdict({"status": "INCORRECT", "checks": [], "correctness": {
            "passed": 2, "trials": 5, "atol": 0.01, "rtol": 0.01, "maxAbsError": 0.31,
            "firstMismatch": {"trial": 2, "kind": "value", "index": [3, 17], "expected": "0.52",
                              "actual": "0.21"}}})
        self.assertIn("trial 2 at index [3, 17]: expected 0.52, got 0.21", text)

    def test_rejected_summary_names_the_check(self):
        text = summary.for_verdict({"status": "REJECTED", "checks": [
            {"name": "result_reuse", "outcome": "FAILED", "detail": "stale"}]})
        self.assertIn("Rejected by check 'result_reuse': stale", text)


if __name__ == "__main__":
    unittest.main()
