"""Problems and enterprise requests (问题 / 诉求) as a closed loop."""
