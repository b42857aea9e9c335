"""`studio load-test`: a bounded load test of a running web server on this machine (issue #13).

Client sessions compare images and vote through the public API while a probe asks /healthz at a steady
rate and the server's memory is sampled; afterwards every vote the server acknowledged is looked up in its
ratings database. A client of the server, like the page and gradio_client: it imports neither ui/ nor service/.
"""
