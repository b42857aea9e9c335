"""Video: reading and writing clips (io.py, the only home of PyAV), the frame pipeline, live webcam frames."""
