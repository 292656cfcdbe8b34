package kernelfarm.coordinator;

import kernelfarm.coordinator.cli.KfarmCommand;

/** The {@code kfarm} launcher's entry point. */
public final class Main {
  private Main() {}

  public static void main(String[] args) {
    // Logging first, on this thread: actors starting in parallel must find it initialised.
    org.slf4j.LoggerFactory.getLogger(Main.class);
    System.exit(KfarmCommand.execute(args));
  }
}
