package kernelfarm.coordinator.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.ConfigFactory;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code kfarm verify} on a batch with every kind of bad input between honest candidates: a binary file, an empty
 * one, one that matches no problem, a constructor that never returns and a broken problem. Each bad file gets its
 * own error naming it and the fix, the broken problem is reported once as the problem's, and every honest candidate
 * is still judged.
 */
@Tag("slow")
class VerifyBatchTest {
  @TempDir
  Path dir;

  @Test
  void badInputNeverLosesTheBatch() throws Exception {
    Path problems = Files.createDirectories(dir.resolve("problems"));
    Files.writeString(problems.resolve("relu.py"), """
        import torch
        import torch.nn as nn

        class Model(nn.Module):
            def forward(self, x):
                return torch.relu(x)

        def get_inputs():
            return [torch.randn(16, 256)]

        def get_init_inputs():
            return []
        """);
    Files.writeString(problems.resolve("broken.py"), """
        import torch
        import torch.nn as nn

        class Model(nn.Module):
            def forward(self, x):
                return x * 2

        def get_inputs():
            return [torch.randn(16, undefined_size)]

        def get_init_inputs():
            return []
        """);
    Path candidates = Files.createDirectories(dir.resolve("candidates"));
    String honest = """
        # kfarm-problem: relu
        import torch
        import torch.nn as nn

        class ModelNew(nn.Module):
            def forward(self, x):
                return torch.relu(x)
        """;
    Files.writeString(candidates.resolve("a_honest.py"), honest);
    Files.write(candidates.resolve("b_binary.py"), new byte[] {0x7f, 'E', 'L', 'F', 0, 0, 1, 2});
    Files.writeString(candidates.resolve("c_empty.py"), "\n  \n");
    Files.writeString(candidates.resolve("d_unmatched.py"), honest.replace("# kfarm-problem: relu\n", ""));
    Files.writeString(candidates.resolve("e_hangs_in_init.py"), """
        # kfarm-problem: relu
        import time
        import torch
        import torch.nn as nn

        class ModelNew(nn.Module):
            def __init__(self):
                super().__init__()
                while True:
                    time.sleep(1)

            def forward(self, x):
                return torch.relu(x)
        """);
    Files.writeString(candidates.resolve("f_for_broken.py"), honest.replace("relu\n", "broken\n"));
    Files.writeString(candidates.resolve("g_for_broken_too.py"), honest.replace("relu\n", "broken\n"));
    Files.writeString(candidates.resolve("h_honest.py"), honest);
    Path out = dir.resolve("out");

    ByteArrayOutputStream printed = new ByteArrayOutputStream();
    PrintStream stdout = System.out;
    System.setProperty("kernelfarm.worker.stage-timeouts.compile", "15s");
    System.setProperty("kernelfarm.worker.stage-timeouts.load", "15s");
    ConfigFactory.invalidateCaches();
    int exit;
    try {
      System.setOut(new PrintStream(printed, true, StandardCharsets.UTF_8));
      exit = KfarmCommand.execute("verify", "--problems", problems.toString(), "--candidates", candidates.toString(),
          "--out", out.toString(), "--devices", "cpu", "--work-dir", "target/kfarm-batch-work", "--timing-trials",
          "5", "--warmup", "2");
    } finally {
      System.setOut(stdout);
      System.clearProperty("kernelfarm.worker.stage-timeouts.compile");
      System.clearProperty("kernelfarm.worker.stage-timeouts.load");
      ConfigFactory.invalidateCaches();
    }
    String table = printed.toString(StandardCharsets.UTF_8);
    assertEquals(2, exit, "unreadable files make the run say so: " + table);

    Map<String, JsonNode> verdicts = new HashMap<>();
    ObjectMapper json = new ObjectMapper();
    for (String line : Files.readAllLines(out.resolve("verdicts.jsonl"))) {
      JsonNode v = json.readTree(line);
      verdicts.put(v.path("candidateFile").asText(), v);
    }
    assertEquals(5, verdicts.size(), "every readable candidate judged: " + verdicts.keySet());
    assertEquals("CORRECT", verdicts.get("a_honest.py").path("status").asText());
    assertEquals("CORRECT", verdicts.get("h_honest.py").path("status").asText());
    JsonNode hung = verdicts.get("e_hangs_in_init.py");
    assertEquals("TIMEOUT", hung.path("status").asText(), hung.toString());
    for (String broken : new String[] {"f_for_broken.py", "g_for_broken_too.py"}) {
      JsonNode v = verdicts.get(broken);
      assertEquals("problem", v.path("stage").asText(), v.path("summary").asText());
      assertTrue(v.path("summary").asText().contains("undefined_size"), v.path("summary").asText());
      assertTrue(v.path("summary").asText().contains("not the candidate's"), v.path("summary").asText());
    }
    assertEquals(1, table.lines().filter(l -> l.startsWith("problem broken is broken")).count(), table);
    assertTrue(table.contains("b_binary.py") && table.contains("binary data"), table);
    assertTrue(table.contains("c_empty.py") && table.contains("is empty"), table);
    assertTrue(table.contains("d_unmatched.py") && table.contains("# kfarm-problem"), table);
  }
}
