import CFastFloat
