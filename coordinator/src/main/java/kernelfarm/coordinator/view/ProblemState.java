package kernelfarm.coordinator.view;

/** A problem's state as the read side shows it. */
public enum ProblemState {
  /** its branches are searching */
  RUNNING,
  /** its search ended: budget, rounds or stop rule */
  FINISHED,
  /** its campaign was cancelled */
  CANCELLED
}
