// The operations GraphiQL opens with. They work as-is against the embedded simulator: the create
// reads its own task in the same operation, and `demo-succeeded` is a task the simulator always has.
export const GRAPHIQL_DEFAULT_QUERY = `# Welcome! Run CreateVideo, then copy its taskId into ReadTask or WatchTask (or use the demo task as it is).
# Against the embedded simulator a task moves QUEUED -> PROCESSING -> SUCCEEDED in a few seconds.

mutation CreateVideo {
  createReferenceVideo(
    input: {
      prompt: "@1 waves at the camera in a sunny park"
      subjects: [{ id: "1", images: ["https://example.com/reference/alice.png"] }]
      durationSeconds: 5
      resolution: RES_720P
      aspectRatio: RATIO_16_9
      movementAmplitude: AUTO
    }
  ) {
    taskId
    userErrors { field message code }
    task { id status progressPercent etaSeconds }
  }
}

query ReadTask {
  task(id: "demo-succeeded") {
    id
    status
    isTerminal
    progressPercent
    etaSeconds
    failureReason
    videos { url format expiresAt stored }
    seed
    submittedAt
    completedAt
    watchUrl
  }
}

# Your history, newest first (what this gateway created; demo-succeeded is not in it).
query MyTasks {
  myTasks(first: 10) {
    totalCount
    edges { node { id status prompt createdAt videos { url stored } } }
  }
}

# Live progress without polling: the current state at once, then every change, until the task ends.
subscription WatchTask {
  taskUpdates(id: "demo-succeeded") {
    id
    status
    progressPercent
    etaSeconds
    videos { url expiresAt }
  }
}
`;
