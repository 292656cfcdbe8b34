package kernelfarm.coordinator.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class ClusterOptionsTest {
  private static ClusterOptions parse(String... args) {
    NodeCommand command = new NodeCommand();
    new CommandLine(command).parseArgs(args);
    return command.cluster;
  }

  @Test
  void joinNamesTheSeedNodeAndRolesAndPortGoToTheCluster() {
    var config = parse("--roles", "worker", "--join", "10.0.0.5:25520", "--port", "25521").overrides();
    assertEquals(List.of("pekko://KernelFarm@10.0.0.5:25520"), config.getStringList("pekko.cluster.seed-nodes"));
    assertEquals(List.of("worker"), config.getStringList("pekko.cluster.roles"));
    assertEquals(25521, config.getInt("pekko.remote.artery.canonical.port"));
    assertEquals(List.of("pekko://KernelFarm@10.0.0.5:25520"), parse("--join", "pekko://KernelFarm@10.0.0.5:25520")
        .overrides().getStringList("pekko.cluster.seed-nodes"), "the address as a node logs it works too");
  }

  @Test
  void badInputNamesTheOptionAndTheFix() {
    var join = assertThrows(IllegalArgumentException.class, () -> parse("--join", "10.0.0.5").overrides());
    assertTrue(join.getMessage().startsWith("--join:") && join.getMessage().contains("HOST:PORT"), join.getMessage());
    var role = assertThrows(IllegalArgumentException.class, () -> parse("--roles", "gpu").overrides());
    assertTrue(role.getMessage().startsWith("--roles:") && role.getMessage().contains("coordinator,worker"),
        role.getMessage());
    var port = assertThrows(IllegalArgumentException.class, () -> parse("--port", "70000").overrides());
    assertTrue(port.getMessage().startsWith("--port:"), port.getMessage());
  }
}
