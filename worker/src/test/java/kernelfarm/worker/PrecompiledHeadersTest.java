package kernelfarm.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import kernelfarm.protocol.Backend;
import kernelfarm.protocol.Candidate;
import kernelfarm.protocol.Problem;
import kernelfarm.protocol.VerifySettings;
import kernelfarm.worker.compile.CompilePool;
import kernelfarm.worker.device.Device;
import kernelfarm.worker.sandbox.HarnessLauncher;
import kernelfarm.worker.sandbox.HarnessRequests;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The host's precompiled torch/extension.h: built once by a compile process given no candidate, published
 * read-only beside the builds, and offered to every later C++ build, which still builds and runs. Real harness
 * processes and g++, cpu backend (a minute or more: g++ parses torch/extension.h twice).
 */
@Tag("slow")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PrecompiledHeadersTest {
  private static final String CPP_RELU = """
      import torch
      import torch.nn as nn
      from torch.utils.cpp_extension import load_inline

      SOURCE = \"""
      #include <torch/extension.h>
      torch::Tensor relu_forward(torch::Tensor x) {
        auto input = x.contiguous();
        auto out = torch::empty_like(input);
        const float* in = input.data_ptr<float>();
        float* o = out.data_ptr<float>();
        for (int64_t i = 0; i < input.numel(); ++i) o[i] = in[i] > 0.f ? in[i] : 0.f;
        return out;
      }
      \"""


      class ModelNew(nn.Module):
          def __init__(self):
              super().__init__()
              self.ext = load_inline(name="kfarm_pch_relu", cpp_sources=SOURCE, functions=["relu_forward"])

          def forward(self, x):
              return self.ext.relu_forward(x)
      """;
  /**
   * Hostile: finds the precompiled header linked into its scratch folder (a hard link to the host's one) and tries
   * to overwrite, append to and chmod it, which would poison every later C++ build on the host. A compile settles
   * only build failures, so it reports what it found and did on its output, which the test reads in the compile
   * process's log (a unique run tag, which also keeps the source new to the compile cache).
   */
  private static final String POISON_HEADER = """
      import os
      import torch
      import torch.nn as nn

      TAG = "kfarm-pch-test-%d"
      here = os.path.dirname(os.path.abspath(__file__))
      targets = set()
      for base in {os.getcwd(), here, os.path.dirname(here)}:
          for folder, _, files in os.walk(base):
              targets.update(os.path.join(folder, f) for f in files if f.endswith(".gch"))
      print(TAG, "found", len(targets), flush=True)
      for path in sorted(targets):
          for name, attack in (("write", lambda: open(path, "r+b").write(b"poisoned")),
                               ("append", lambda: open(path, "ab").write(b"poisoned")),
                               ("chmod", lambda: os.chmod(path, 0o666))):
              try:
                  attack()
                  print(TAG, "succeeded", name, path, flush=True)
              except OSError as error:
                  print(TAG, "refused", name, error.strerror, flush=True)


      class ModelNew(nn.Module):
          def forward(self, x):
              return torch.relu(x)
      """;
  private static final String RELU_PROBLEM = """
      import torch
      import torch.nn as nn


      class Model(nn.Module):
          def forward(self, x):
              return torch.relu(x)


      def get_inputs():
          return [torch.randn(16, 1024)]


      def get_init_inputs():
          return []
      """;

  private final Config config = ConfigFactory.parseString("kernelfarm.worker.precompiled-headers = on")
      .withFallback(TestWorkers.config("target/kfarm-test-pch"));
  private final ActorTestKit kit = ActorTestKit.create(config);
  private final WorkerSettings settings = TestWorkers.settings(config);
  private final HarnessLauncher launcher = TestWorkers.launcher(kit.system(), settings);

  @AfterAll
  void stop() {
    kit.shutdownTestKit();
  }

  @Test
  void aCppBuildGetsTheHostsPrecompiledHeader() throws Exception {
    Path entry = HarnessRequests.headersDir(settings.workDir(), launcher.harnessRoot(), launcher.toolchain());
    ActorRef<CompilePool.Command> pool = kit.spawn(CompilePool.create(launcher, Device.cpu()), "compile-pool",
        DispatcherSelector.fromConfig(WorkerSettings.BLOCKING_DISPATCHER));
    Path header = entry.resolve("torch").resolve("extension.h.gch");
    kit.createTestProbe().awaitAssert(Duration.ofMinutes(5), Duration.ofSeconds(1), () -> {
      assertTrue(Files.isRegularFile(header), "published at " + header);
      return null;
    });
    assertTrue(Files.size(header) > 1 << 20, "a real precompiled header, " + Files.size(header) + " bytes");
    assertEquals("r--r--r--", PosixFilePermissions.toString(Files.getPosixFilePermissions(header)),
        "read-only: a sandbox (another user) may use it and never change it");
    assertEquals(System.getProperty("user.name"), Files.getOwner(header).getName(), "owned by the worker");

    Problem problem = new Problem("test/relu", 1, "relu", RELU_PROBLEM);
    String before = sha256(header);
    String tag = "kfarm-pch-test-" + System.nanoTime();
    TestProbe<CompilePool.Compiled> asker = kit.createTestProbe();
    pool.tell(new CompilePool.Compile(Candidate.of(problem.id(), Backend.CPU,
        POISON_HEADER.formatted(Long.parseLong(tag.substring("kfarm-pch-test-".length())))), problem,
        VerifySettings.defaults(), asker.getRef()));
    asker.receiveMessage(Duration.ofMinutes(5));
    kit.createTestProbe().awaitAssert(Duration.ofSeconds(30), Duration.ofMillis(500), () -> {
      List<String> said = compileOutput(tag);
      assertTrue(said.stream().anyMatch(l -> l.matches(".*" + tag + " found [1-9].*")),
          "the hostile candidate ran and found the header: " + said);
      assertEquals(3, said.stream().filter(l -> l.contains(tag + " refused")).count(), said.toString());
      assertTrue(said.stream().noneMatch(l -> l.contains(tag + " succeeded")), said.toString());
      return null;
    });
    assertEquals(before, sha256(header), "the host's header is unchanged");
    assertEquals("r--r--r--", PosixFilePermissions.toString(Files.getPosixFilePermissions(header)));

    Candidate candidate = Candidate.of(problem.id(), Backend.CPU, CPP_RELU);
    pool.tell(new CompilePool.Compile(candidate, problem, VerifySettings.defaults(), asker.getRef()));
    CompilePool.Compiled compiled = asker.receiveMessage(Duration.ofMinutes(5));
    assertNull(compiled.compileError(), () -> "builds with the header offered: " + compiled.compileError());
    Path ninja;
    try (Stream<Path> files = Files.walk(compiled.job().buildDir())) {
      ninja = files.filter(p -> p.getFileName().toString().equals("build.ninja")).findFirst().orElseThrow();
    }
    String cflags = Files.readAllLines(ninja).stream().filter(l -> l.startsWith("cflags = ")).findFirst()
        .orElseThrow();
    assertTrue(cflags.matches(".* -I\\S*/pch( .*|$)"), "main.cpp is compiled with the header's folder: " + cflags);
    assertFalse(Files.exists(compiled.job().buildDir().resolve("pch")),
        "the header is not published again with each build");
  }

  /** The lines with this tag in the compile processes' logs. */
  private List<String> compileOutput(String tag) {
    try (Stream<Path> logs = Files.walk(settings.workDir().resolve("runs"), 2)) {
      List<String> lines = new java.util.ArrayList<>();
      for (Path log : logs.filter(p -> p.getFileName().toString().equals("harness.log")).toList()) {
        Files.readAllLines(log).stream().filter(l -> l.contains(tag)).forEach(lines::add);
      }
      return lines;
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static String sha256(Path file) throws Exception {
    return java.util.HexFormat.of().formatHex(
        java.security.MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
  }
}
