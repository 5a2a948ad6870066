-- Glance tasks (POST /v2/tasks, service/image/task_projection.py): each task's status
-- follows its import in its image's stream.

CREATE TABLE rm_image_tasks (
    id          text PRIMARY KEY,
    type        text NOT NULL,
    status      text NOT NULL,
    owner       text,
    user_id     text,
    request_id  text,
    image_id    text NOT NULL,
    input       jsonb NOT NULL,
    message     text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    expires_at  timestamptz
);
CREATE INDEX rm_image_tasks_image ON rm_image_tasks (image_id) WHERE status IN ('pending', 'processing');
CREATE INDEX rm_image_tasks_owner ON rm_image_tasks (owner, created_at);
