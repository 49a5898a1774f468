"""Serving crudql over HTTP: the FastAPI route (`fastapi`), what it needs that any framework
could use (`status`, `scope`, `openapi`), the playground page, and the app of `crudql serve`
(`server`). FastAPI, uvicorn and anyio come with the `http` extra; nothing here is imported by
`import crudql`."""
